"""Moodle's external API descriptions and validation, in the emulator.

A function's parameters and returns are described, as in Moodle, by nested
``external_value`` / ``external_single_structure`` / ``external_multiple_structure``
objects. Keeping them as data does two jobs: the emulator validates a request exactly
like ``external_api::validate_parameters`` (same failures, same ``debuginfo`` wording),
and the static contract test compares their key sets with the PHP classes.

Exceptions carry Moodle's exception class, errorcode, message and debuginfo so the app
can render the ``{exception, errorcode, message, debuginfo}`` envelope (debugging on,
as on a developer's Moodle).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from collections.abc import Mapping
from typing import Any, Union

from ...errors import MziError

PARAM_INT = "int"
PARAM_RAW = "raw"
PARAM_BOOL = "bool"
PARAM_TEXT = "text"
PARAM_ALPHA = "alpha"
PARAM_ALPHANUMEXT = "alphanumext"
PARAM_EMAIL = "email"
PARAM_USERNAME = "username"
PARAM_FLOAT = "float"

VALUE_REQUIRED = 1
VALUE_OPTIONAL = 2
VALUE_DEFAULT = 0


class WsException(MziError):
    """A Moodle exception as the REST server reports it."""

    exception = "moodle_exception"
    errorcode = "generalexceptionmessage"

    def __init__(self, message: str, debuginfo: str = "", errorcode: str | None = None) -> None:
        super().__init__(message)
        self.message = message
        self.debuginfo = debuginfo
        if errorcode is not None:
            self.errorcode = errorcode

    def envelope(self) -> dict[str, str]:
        body = {"exception": self.exception, "errorcode": self.errorcode, "message": self.message}
        if self.debuginfo:
            body["debuginfo"] = self.debuginfo
        return body


class InvalidParameter(WsException):
    exception = "invalid_parameter_exception"
    errorcode = "invalidparameter"

    def __init__(self, debuginfo: str) -> None:
        super().__init__("Invalid parameter value detected", debuginfo)


class InvalidToken(WsException):
    exception = "moodle_exception"
    errorcode = "invalidtoken"

    def __init__(self) -> None:
        super().__init__("Invalid token - token not found")


class AccessException(WsException):
    exception = "webservice_access_exception"
    errorcode = "accessexception"

    def __init__(self, debuginfo: str) -> None:
        super().__init__("Access control exception", debuginfo)


class NoPermissions(WsException):
    exception = "required_capability_exception"
    errorcode = "nopermissions"

    def __init__(self, capability: str) -> None:
        super().__init__(f"Sorry, but you do not currently have permissions to do that ({capability}).")


class UnknownFunction(WsException):
    exception = "dml_missing_record_exception"
    errorcode = "invalidrecord"

    def __init__(self, name: str) -> None:
        super().__init__("Can't find data record in database table external_functions.",
                         f"SELECT * FROM {{external_functions}} WHERE name = ? [array ({name!r})]")


@dataclass(frozen=True)
class Value:
    """``external_value``: one scalar of a PARAM type."""

    type: str
    desc: str = ""
    required: int = VALUE_REQUIRED
    default: Any = None
    allownull: bool = True


@dataclass(frozen=True)
class Single:
    """``external_single_structure``: named keys."""

    keys: Mapping[str, "Desc"]
    desc: str = ""
    required: int = VALUE_REQUIRED
    default: Any = None


@dataclass(frozen=True)
class Multiple:
    """``external_multiple_structure``: a list of one content description."""

    content: "Desc"
    desc: str = ""
    required: int = VALUE_REQUIRED
    default: Any = field(default=None)


Desc = Union[Value, Single, Multiple]


def key_names(desc: Desc | None) -> frozenset[str]:
    """Every key named anywhere in a description (what the PHP regex can see)."""
    if desc is None:
        return frozenset()
    if isinstance(desc, Single):
        names = set(desc.keys)
        for sub in desc.keys.values():
            names |= key_names(sub)
        return frozenset(names)
    if isinstance(desc, Multiple):
        return key_names(desc.content)
    return frozenset()


def _clean_scalar(value: Any, ptype: str) -> Any:
    """``clean_param`` for the PARAM types the emulator uses; ``None`` means refused."""
    text = value if isinstance(value, str) else str(value)
    if ptype == PARAM_INT:
        return int(text) if _is_php_int(text) else None
    if ptype == PARAM_FLOAT:
        try:
            return float(text)
        except ValueError:
            return None
    if ptype == PARAM_ALPHA:
        return text if text.isascii() and (text.isalpha() or text == "") else None
    if ptype == PARAM_ALPHANUMEXT:
        return text if all(c.isascii() and (c.isalnum() or c in "_-") for c in text) else None
    if ptype == PARAM_USERNAME:
        return text if text == text.strip().lower() else None
    return text  # PARAM_RAW, PARAM_TEXT, PARAM_EMAIL: kept as sent by the emulator


def _is_php_int(text: str) -> bool:
    """``(string)(int)$x === (string)$x``: no spaces, signs only for negatives, no ``+``."""
    body = text[1:] if text.startswith("-") else text
    return body.isdigit() and body.isascii() and (body == "0" or not body.startswith("0")) and text != "-0"


def _validate_value(desc: Value, value: Any) -> Any:
    if isinstance(value, dict):
        raise InvalidParameter("Scalar type expected, array or object received.")
    if desc.type == PARAM_BOOL:
        if isinstance(value, bool) or value in (0, 1, "0", "1"):
            return bool(int(value))
        if isinstance(value, str) and value.lower() in ("true", "false"):
            return value.lower() == "true"
    if value is None:
        if desc.allownull:
            return None
        raise InvalidParameter("Null value not allowed")
    cleaned = _clean_scalar(value, desc.type)
    if cleaned is None or desc.type == PARAM_BOOL:
        raise InvalidParameter(
            f'Invalid external api parameter: the value is "{value}", the server was expecting "{desc.type}" type')
    return cleaned


def validate(desc: Desc, value: Any) -> Any:
    """``external_api::validate_parameters``: cleaned value or :class:`InvalidParameter`."""
    if isinstance(desc, Value):
        return _validate_value(desc, value)
    if not isinstance(value, dict):
        raise InvalidParameter(f"Only arrays accepted. The bad value is: '{value}'")
    if isinstance(desc, Multiple):
        return [validate(desc.content, item) for item in value.values()]
    result: dict[str, Any] = {}
    remaining = dict(value)
    for key, sub in desc.keys.items():
        if key not in remaining:
            if sub.required == VALUE_REQUIRED:
                raise InvalidParameter(f"Missing required key in single structure: {key}")
            if sub.required == VALUE_DEFAULT:
                result[key] = _nested(key, sub, sub.default if not isinstance(sub, Multiple) else {})
            continue
        result[key] = _nested(key, sub, remaining.pop(key))
    if remaining:
        raise InvalidParameter(f"Unexpected keys ({', '.join(str(k) for k in remaining)}) detected in parameter array.")
    return result


def _nested(key: str, sub: Desc, value: Any) -> Any:
    if isinstance(sub, Multiple) and isinstance(value, list):
        value = dict(enumerate(value))
    try:
        return validate(sub, value)
    except InvalidParameter as exc:
        raise InvalidParameter(f"{key} => {exc.message}: {exc.debuginfo}") from None


def clean_return(desc: Desc | None, value: Any) -> Any:
    """``external_api::clean_returnvalue``: cast to the declared types, drop extra keys."""
    if desc is None:
        return None
    if isinstance(desc, Value):
        if value is None:
            return None
        if desc.type == PARAM_INT:
            return int(value)
        if desc.type == PARAM_BOOL:
            return bool(value)
        if desc.type == PARAM_FLOAT:
            return float(value)
        return str(value)
    if isinstance(desc, Multiple):
        return [clean_return(desc.content, item) for item in (value or [])]
    out: dict[str, Any] = {}
    for key, sub in desc.keys.items():
        if key in value:
            out[key] = clean_return(sub, value[key])
        elif sub.required == VALUE_DEFAULT and isinstance(sub, Value):
            out[key] = sub.default
    return out
