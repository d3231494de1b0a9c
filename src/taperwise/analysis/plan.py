"""Reading the analysis plan for ``taperwise analyze --protocol FILE``.

A full protocol YAML (arms, schedule, ..., ``sap``) is read with
:func:`taperwise.protocol.load_protocol`. A file whose only top-level keys are ``sap`` (and
optionally ``id``, ``title``, ``description``) is an *SAP-only plan*, for data that have no
taperwise protocol (e.g. the CTN-0094 import): arms then come from the data.
"""

from __future__ import annotations

from pathlib import Path

import pydantic
import yaml

from taperwise.errors import DataFileError, DefinitionError
from taperwise.protocol import SAP, Protocol, load_protocol

_SAP_ONLY_KEYS = {"sap", "id", "title", "description"}


def load_plan(path: str | Path) -> Protocol | SAP:
    """A :class:`Protocol`, or an :class:`SAP` for an SAP-only file.

    Examples
    --------
    >>> load_plan("sap.yaml")  # doctest: +SKIP
    SAP(primary_instrument='withdrawal_band', ...)
    """
    p = Path(path)
    if not p.is_file():
        raise DataFileError(f"{p}: protocol file not found")
    try:
        doc = yaml.safe_load(p.read_text(encoding="utf-8"))
    except yaml.YAMLError as exc:
        raise DefinitionError(f"{p}: not valid YAML ({str(exc).splitlines()[0]})") from exc
    if isinstance(doc, dict) and "sap" in doc and set(doc) <= _SAP_ONLY_KEYS:
        try:
            return SAP.model_validate(doc["sap"] or {})
        except pydantic.ValidationError as exc:
            err = exc.errors()[0]
            where = ".".join(str(x) for x in ("sap", *err["loc"]))
            raise DefinitionError(f"{p}: {where}: {err['msg']}") from None
    return load_protocol(p)
