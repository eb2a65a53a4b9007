"""TorchServe peer: a custom handler doing the same decode/predict/encode as the other stacks.

Archived by benchmarks/peers.py with torch-model-archiver together with the model's
inference.py, w.npy and benchmarks/peer_codec.py; TorchServe runs with
``decode_input_request=false`` so the body arrives as bytes, as it does for this project.
"""

import sys

_service = None


class _Service:
    def __init__(self, context):
        model_dir = context.system_properties.get("model_dir")
        if model_dir not in sys.path:
            sys.path.insert(0, model_dir)
        import inference
        import peer_codec

        self.inference = inference
        self.codec = peer_codec
        self.model = inference.model_fn(model_dir)

    @staticmethod
    def _header(context, index, name):
        for key, value in context.get_all_request_header(index).items():
            if key.lower() == name:
                return value.decode("latin-1") if isinstance(value, (bytes, bytearray)) else value
        return None

    def handle(self, data, context):
        answers = []
        for index, item in enumerate(data):
            body = item.get("body")
            if body is None:
                body = item.get("data")
            accept = self.codec.media_type(self._header(context, index, "accept"))
            if accept == "*/*":
                accept = self.codec.JSON
            try:
                array = self.codec.decode(body, self._header(context, index, "content-type"))
            except ValueError as exc:
                context.set_response_status(415, str(exc), idx=index)
                answers.append(str(exc))
                continue
            prediction = self.inference.predict_fn(array, self.model)
            context.set_response_content_type(index, accept)
            answers.append(self.codec.encode(prediction, accept))
        return answers


def handle(data, context):
    """TorchServe's module-level entry point: None data is the load-time call."""
    global _service
    if _service is None:
        _service = _Service(context)
    if data is None:
        return None
    return _service.handle(data, context)
