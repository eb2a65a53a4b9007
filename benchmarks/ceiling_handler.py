"""Handler service for the 'ceiling' stack: a constant answer, the body never decoded.

Served through this project's own start_model_server and MMS configuration
(``launch_project.py --handler-service ceiling_handler``), it measures the most the library
could reach on its own front end; the project's requests/s are reported as a fraction of it.
"""

ANSWER = b"[[0.0]]"


class CeilingService:
    """MMS instantiates the one class of the module and calls initialize, then handle."""

    def initialize(self, context) -> None:
        self.initialized = True

    def handle(self, data, context) -> list:
        return [ANSWER] * len(data or ())
