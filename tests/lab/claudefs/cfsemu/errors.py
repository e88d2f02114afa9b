"""The error envelope and the stable error codes of the admin contract."""

# code -> (HTTP status, retryable)
CODES = {
    'unauthorized': (401, False),
    'not_found': (404, False),
    'bad_request': (400, False),
    'no_quorum': (503, True),
    'not_leader': (503, True),
    'refused_needs_confirmation': (409, False),
    'node_unreachable': (502, True),
    'conflict': (409, False),
    'lag_not_zero': (409, True),
    'plan_stale': (409, False),
    'enospc': (507, True),
    's3_unavailable': (503, True),
    'timeout': (504, True),
    'internal': (500, False),
}


class ApiError(Exception):
    """An error the API returns as ``{"error": {...}}`` with the code's HTTP status."""

    def __init__(self, code, message, **details):
        super().__init__(message)
        self.code = code
        self.message = message
        self.details = details
        self.status, self.retryable = CODES[code]

    def envelope(self):
        return {'error': {'code': self.code, 'message': self.message,
                          'retryable': self.retryable, 'details': self.details}}


def needs_confirmation(field, message, would_lose):
    """The refusal of a destructive step: names the field to set and what would be lost."""
    return ApiError('refused_needs_confirmation', message, confirm_field=field,
                    would_lose=would_lose)
