"""Readers for sources other than CSV/XLSX/Parquet files.

Every reader returns ``(raw DataFrame, info dict)`` exactly like
:func:`aplcohort.cohort.io.read_table`: cells as the source stores them (text, or
typed values where the format is typed), never converted; the one typing and
missing-value policy (:mod:`aplcohort.cohort.types`) and the validator then treat
them the same whatever the source.
"""
