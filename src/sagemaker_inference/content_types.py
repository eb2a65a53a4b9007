"""Media type names (essences) the toolkit knows; the 1.10.1 names keep their values."""

JSON = "application/json"
CSV = "text/csv"
OCTET_STREAM = "application/octet-stream"
ANY = "*/*"
NPY = "application/x-npy"
NPZ = "application/x-npz"
JSONLINES = "application/jsonlines"

# Bodies of these types are text; the decoder turns them into str with the declared charset.
UTF8_TYPES = [JSON, CSV, JSONLINES]
