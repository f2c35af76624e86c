"""Workers AI's errors, as the binding raises them: ``AiError: <code>: <message>``.

Codes and HTTP statuses come from https://developers.cloudflare.com/workers-ai/platform/errors/.
"""
from __future__ import annotations

from course.workers.jsproxy import JsException

#: (internal code, HTTP status) from the errors table.
NO_SUCH_MODEL = (5007, 400)
OUT_OF_CAPACITY = (3040, 429)
TIMEOUT = (3007, 408)
REQUEST_TOO_LARGE = (3006, 413)
#: Input that fails the model's input schema. Not in the errors table; 5006 is the code the
#: binding reports for schema failures ("AiError: 5006: Error: oneOf at '/' not met ...").
INVALID_INPUT = (5006, 400)
#: An upstream inference failure. Not in the errors table; 3043 "Internal server error" is the
#: code Workers AI returns for it.
INTERNAL_ERROR = (3043, 500)


class AiError(JsException):
    """An error from ``env.AI.run``; ``code`` is Workers AI's internal code, ``status`` the HTTP one."""

    def __init__(self, code: int | None, message: str, status: int = 400, name: str = "AiError") -> None:
        text = f"{code}: {message}" if code is not None else message
        super().__init__(text, name)
        self.code = code
        self.status = status
        self.detail = message


def no_such_model(model: str) -> AiError:
    code, status = NO_SUCH_MODEL
    return AiError(code, f"No such model {model} or task (the course runtime emulates the models in "
                   "course.runtime.bindings.ai.models.CATALOG; register others with service(rt).register_model)", status)


def invalid_input(detail: str) -> AiError:
    code, status = INVALID_INPUT
    return AiError(code, f"Error: {detail}", status)


def out_of_capacity() -> AiError:
    code, status = OUT_OF_CAPACITY
    return AiError(code, "No more data centers to forward the request to (Capacity temporarily exceeded, "
                   "please try again)", status)


def internal_error() -> AiError:
    code, status = INTERNAL_ERROR
    return AiError(code, "Internal server error", status)


def timeout() -> AiError:
    code, status = TIMEOUT
    return AiError(code, "Request timeout", status)


def context_window_exceeded(window: int, prompt_tokens: int, max_tokens: int) -> AiError:
    # Wording as Workers AI reports it (cloudflare/cloudflare-docs issue #29731).
    return AiError(None, f"This model's maximum context length is {window} tokens. However, you requested "
                   f"{max_tokens} output tokens and your prompt contains at least {prompt_tokens} input tokens, "
                   f"for a total of at least {prompt_tokens + max_tokens} tokens. Please reduce the length of "
                   "the input prompt or reduce max_tokens.", 400)
