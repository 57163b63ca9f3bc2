"""aplcohort.cohort: load, validate and derive endpoints from a patient table.

Data flow: :func:`load` (CSV in any common encoding / XLSX / Parquet / SPSS / Stata /
SAS / REDCap export / DuckDB / PostgreSQL / DataFrame, optional column mapping) ->
:func:`validate` (every problem in one report) -> :class:`Cohort` (canonical
data, warnings, attrition log) -> :meth:`Cohort.endpoint` (time, event).
One typing and missing-value policy for every column: :mod:`aplcohort.cohort.types`.
"""

from .attrition import AttritionLog, AttritionStep
from .cohort import Cohort, dictionary_ordered, from_dataframe
from .endpoints import (DAYS_PER_MONTH, DAYS_PER_YEAR, ENDPOINTS, EndpointData,
                        derive_endpoint, endpoint_arrays)
from .io import (CohortFileNotFoundError, CohortLoadError, DuplicateColumnError, EmptyFileError,
                 NotARegularFileError, NotATableError, SheetChoiceError, SheetNotFoundError,
                 UnsupportedFormatError, WorkbookCellError, WorkbookTooLargeError, load,
                 read_table)
from .encoding import EncodingError
from .mapping import ColumnMapping, MappingError, load_mapping
from .schema import (ColumnSpec, DataDictionary, data_dictionary, load_dictionary,
                     required_for, write_data_dictionary_doc)
from .types import (MISSING_TOKENS, ColumnTypeError, is_missing, parse_number,
                    type_extra_columns)
from .validate import Problem, ValidationReport, check_required, validate
from .vocab import Vocabulary, match_key, normalise

__all__ = [
    "AttritionLog", "AttritionStep", "Cohort", "dictionary_ordered", "from_dataframe", "EndpointData",
    "derive_endpoint", "endpoint_arrays", "ENDPOINTS", "DAYS_PER_MONTH", "DAYS_PER_YEAR",
    "load", "read_table", "CohortLoadError", "CohortFileNotFoundError", "EmptyFileError",
    "NotATableError", "SheetNotFoundError", "UnsupportedFormatError", "DuplicateColumnError",
    "NotARegularFileError", "SheetChoiceError", "WorkbookCellError", "WorkbookTooLargeError",
    "MISSING_TOKENS", "ColumnTypeError", "is_missing", "parse_number", "type_extra_columns",
    "ColumnMapping", "EncodingError",
    "MappingError", "load_mapping", "ColumnSpec", "DataDictionary", "data_dictionary",
    "load_dictionary", "required_for", "write_data_dictionary_doc", "Problem",
    "ValidationReport", "check_required", "validate", "Vocabulary", "match_key", "normalise",
]
