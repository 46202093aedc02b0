"""The one exception a command raises to stop with a message instead of a traceback."""

# Exit status for a problem with the environment or the input (credentials, region, Docker engine,
# a stack that does not exist, a bad option value); anything that went wrong in AWS exits 1.
USAGE = 2


class Abort(Exception):
    """Stop the command: print `message` as one line and exit with `status`."""

    def __init__(self, message, status=1):
        super().__init__(message)
        self.message = message
        self.status = status
