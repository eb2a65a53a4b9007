"""Framework defaults for the four inference hooks; containers subclass this."""

from typing import Any, Optional, Tuple

from sagemaker_inference import content_types, decoder, encoder, errors, mediatypes

MODEL_FN_MISSING = (
    "Please provide a model_fn implementation. The user module (inference.py in the model's code/ "
    "directory, or the file SAGEMAKER_PROGRAM names) must define model_fn(model_dir) returning "
    "the loaded model. See the documentation for model_fn at "
    "https://sagemaker.readthedocs.io/en/stable/"
)
PREDICT_FN_MISSING = (
    "Please provide a predict_fn implementation. The user module must define "
    "predict_fn(data, model) returning the prediction. See the documentation for predict_fn at "
    "https://sagemaker.readthedocs.io/en/stable/"
)


class DefaultInferenceHandler(object):
    """Defaults used for any hook the user module does not define.

    Every method takes an optional trailing ``context`` (MMS's context object) so that subclasses
    can use it. A subclass may also define ``default_pre_model_fn(model_dir)`` and
    ``default_model_warmup_fn(model_dir, model)``, used when the user module has no
    ``pre_model_fn`` / ``model_warmup_fn``.
    """

    def default_model_fn(self, model_dir: str, context: Any = None) -> Any:
        raise NotImplementedError(MODEL_FN_MISSING)

    def default_input_fn(self, input_data: Any, content_type: Optional[str], context: Any = None):
        """Decode the request body to a numpy array (or scipy sparse matrix for NPZ)."""
        return decoder.decode(input_data, content_type)

    # The codecs take bytes and honour the charset themselves: the Transformer hands this hook
    # the raw body (no copy to str). An override is not marked, and gets str for text types.
    default_input_fn.takes_raw_body = True  # type: ignore[attr-defined]

    def default_predict_fn(self, data: Any, model: Any, context: Any = None) -> Any:
        raise NotImplementedError(PREDICT_FN_MISSING)

    def default_output_fn(
        self, prediction: Any, accept: str, context: Any = None
    ) -> Tuple[Any, str]:
        """Encode the prediction; returns ``(body, content_type)``.

        ``accept`` is normally one media type (the Transformer has already negotiated it); an
        Accept list such as ``"text/csv, application/json"`` (a subclass calling this itself)
        gets the best supported type of the list, as 1.10.1 did. Raises NotAcceptableError (406)
        when nothing in it can be encoded.
        """
        try:
            return encoder.encode(prediction, accept), accept
        except errors.NotAcceptableError:
            if not isinstance(accept, str) or ("," not in accept and "*" not in accept):
                raise
        chosen = mediatypes.negotiate(accept, encoder.SUPPORTED_CONTENT_TYPES, content_types.JSON)
        return encoder.encode(prediction, chosen), chosen

    # Encodes any type the codec registry can: the Transformer negotiates Accept against those
    # types (see accept.AcceptPolicy). An override is not marked: it gets the first concrete type.
    default_output_fn.encodes_with_codecs = True  # type: ignore[attr-defined]
