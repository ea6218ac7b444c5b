"""Log formatters: key=value for people, JSON for log shippers.

Both render the ``extra=`` fields a logger call passes, so one call site
(for example the line each sync run writes) reads well in either form.
"""

import json
import logging

_STANDARD_ATTRS = set(logging.LogRecord("", 0, "", 0, "", None, None).__dict__) | {
    "message",
    "asctime",
}


def _extras(record: logging.LogRecord) -> dict:
    return {k: v for k, v in record.__dict__.items() if k not in _STANDARD_ATTRS}


class KeyValueFormatter(logging.Formatter):
    def format(self, record: logging.LogRecord) -> str:
        base = f"{record.levelname} {record.name} {record.getMessage()}"
        fields = " ".join(f"{k}={v}" for k, v in _extras(record).items())
        text = f"{base} {fields}" if fields else base
        if record.exc_info:
            text = f"{text}\n{self.formatException(record.exc_info)}"
        return text


class JSONFormatter(logging.Formatter):
    def format(self, record: logging.LogRecord) -> str:
        payload = {
            "level": record.levelname,
            "logger": record.name,
            "message": record.getMessage(),
            **_extras(record),
        }
        if record.exc_info:
            payload["exc_info"] = self.formatException(record.exc_info)
        return json.dumps(payload, default=str)
