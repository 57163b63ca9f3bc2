"""Decode a text table whatever encoding the exporting program used, and say which.

Order (the first that applies wins; the choice is recorded in the load notes and in
``Cohort.source["encoding"]``):

1. an encoding given by the user (``load(..., encoding="cp949")`` or ``encoding:`` in
   the mapping) -- decoded strictly; a byte that is not valid in it is an error;
2. a byte-order mark: UTF-8 (``EF BB BF``), UTF-16 LE/BE (``FF FE`` / ``FE FF``);
3. valid UTF-8 (ASCII included);
4. otherwise the encoding detected by `charset-normalizer
   <https://github.com/jawah/charset_normalizer>`_ among the encodings hospital
   exports use (:data:`CANDIDATES`: Korean CP949/EUC-KR, Western Windows-1252/Latin-1,
   Japanese, Chinese, UTF-16 without a mark). Detection is a statistical guess: the
   note says what was detected and how to state the encoding if it is wrong.

We use charset-normalizer (a maintained detector) rather than our own heuristics;
restricting it to :data:`CANDIDATES` avoids rare code pages (it otherwise reads a
short French text as the Baltic cp775).

Examples
--------
>>> text, info = decode_bytes("환자,진단\\n".encode("cp949"))
>>> text.splitlines()[0], info["encoding"], info["encoding_source"]
('환자,진단', 'cp949', 'detected')
>>> decode_bytes("a,b\\n".encode("utf-8-sig"))[1]["encoding"]
'utf-8-sig'
"""

from __future__ import annotations

import codecs

from ..errors import InputError

#: Encodings charset-normalizer may choose among (Python codec names).
CANDIDATES = ("utf_8", "cp949", "euc_kr", "cp1252", "latin_1", "utf_16", "shift_jis",
              "cp932", "gb18030", "big5")

_NAMES = {"cp949": "CP949 (Korean Windows, a superset of EUC-KR)",
          "euc_kr": "EUC-KR (Korean)",
          "cp1252": "Windows-1252 (Western European; identical to Latin-1 for letters)",
          "latin_1": "Latin-1 (ISO-8859-1)", "utf_16": "UTF-16",
          "shift_jis": "Shift-JIS (Japanese)", "cp932": "CP932 (Japanese Windows)",
          "gb18030": "GB18030 (Chinese)", "big5": "Big5 (Chinese)"}


class EncodingError(InputError):
    """A text file cannot be decoded (with the given encoding, or with any detected one)."""


def check_encoding(name) -> str:
    """Normalised codec name of a user-given encoding, or :class:`EncodingError`.

    Examples
    --------
    >>> check_encoding("EUC-KR"), check_encoding("latin1")
    ('euc_kr', 'iso8859-1')
    """
    if not isinstance(name, str) or not name.strip():
        raise EncodingError(f"encoding: expected the name of a text encoding (e.g. cp949, "
                            f"euc-kr, latin-1, utf-16), got {name!r}")
    try:
        return codecs.lookup(name.strip()).name
    except LookupError:
        raise EncodingError(f"encoding: {name!r} is not a known text encoding (use e.g. utf-8, "
                            "cp949, euc-kr, latin-1, cp1252, utf-16)") from None


def decode_bytes(data: bytes, encoding: str | None = None, *, where: str = "the file"
                 ) -> tuple[str, dict]:
    """Decode the bytes of a text table.

    Parameters
    ----------
    data : bytes
    encoding : str, optional
        The file's encoding when known; decoded strictly with it.
    where : str
        Name of the file in messages.

    Returns
    -------
    (str, dict)
        The text (without a byte-order mark) and ``{"encoding": codec name,
        "encoding_source": "given" | "byte-order mark" | "valid UTF-8" | "detected",
        "encoding_note": one sentence for the load notes}``.

    Raises
    ------
    EncodingError
        A byte invalid in the given encoding, or no candidate encoding fits.
    """
    if encoding is not None:
        codec = check_encoding(encoding)
        if codec == "utf-8" and data.startswith(codecs.BOM_UTF8):
            codec = "utf-8-sig"
        try:
            text = data.decode(codec)
        except UnicodeDecodeError as exc:
            raise EncodingError(
                f"{where}: byte {exc.start} (0x{data[exc.start]:02x}) is not valid {encoding} "
                f"text; the file is in another encoding: leave the encoding out to have it "
                "detected, or give the right one") from None
        if codec.startswith("utf-16") and text.startswith("\ufeff"):
            text = text[1:]
        return text, {"encoding": codec, "encoding_source": "given",
                      "encoding_note": f"{where}: read as {codec} (encoding given)"}
    if data.startswith(codecs.BOM_UTF8):
        src, codec = "byte-order mark", "utf-8-sig"
    elif data.startswith(codecs.BOM_UTF16_LE) or data.startswith(codecs.BOM_UTF16_BE):
        src, codec = "byte-order mark", "utf-16"
    elif _utf16_without_bom(data[:4096]):
        src, codec = "detected", _utf16_without_bom(data[:4096])
    else:
        try:
            text = data.decode("utf-8")
            return text, {"encoding": "utf-8", "encoding_source": "valid UTF-8",
                          "encoding_note": f"{where}: read as UTF-8"}
        except UnicodeDecodeError:
            src, codec = "detected", _detect(data, where)
    try:
        text = data.decode(codec)
    except UnicodeDecodeError as exc:  # a BOM followed by invalid bytes
        raise EncodingError(f"{where}: starts with a {codec} byte-order mark but byte "
                            f"{exc.start} is not valid {codec}; save the file again") from None
    if text.startswith("\ufeff"):
        text = text[1:]
    name = _NAMES.get(codec, codec)
    note = (f"{where}: read as {name} ({src}"
            + ("; not UTF-8, so the encoding was guessed by charset-normalizer: if accented or "
               "Korean text looks wrong, state the encoding (encoding: in the mapping, "
               "--encoding, or load(..., encoding=))" if src == "detected" else "") + ")")
    return text, {"encoding": codec, "encoding_source": src, "encoding_note": note}


def _detect(data: bytes, where: str) -> str:
    try:
        from charset_normalizer import from_bytes
    except ImportError:  # pragma: no cover - a runtime dependency
        raise EncodingError(f"{where}: the file is not UTF-8 and charset-normalizer is not "
                            "installed to detect its encoding; give the encoding "
                            "(e.g. encoding: cp949)") from None
    best = from_bytes(data, cp_isolation=list(CANDIDATES)).best()
    if best is None:
        raise EncodingError(f"{where}: the file is not UTF-8 text and its encoding could not be "
                            "recognised (tried " + ", ".join(CANDIDATES) + "); save it as "
                            "'CSV UTF-8' or give the encoding (encoding: in the mapping)")
    return codecs.lookup(best.encoding).name.replace("-", "_") if best.encoding else "utf_8"


def _utf16_without_bom(head: bytes) -> str | None:
    """``utf_16_le``/``utf_16_be`` when the bytes look like UTF-16 text without a mark.

    Table text is mostly ASCII (digits, separators, dates), which UTF-16 writes with a
    zero byte beside every character; NUL bytes are valid UTF-8, so without this check
    such a file would decode as UTF-8 full of NULs.
    """
    if len(head) < 8:
        return None
    even, odd = head[0::2], head[1::2]
    if odd.count(0) > 0.25 * len(odd) and even.count(0) == 0:
        return "utf_16_le"
    if even.count(0) > 0.25 * len(even) and odd.count(0) == 0:
        return "utf_16_be"
    return None
