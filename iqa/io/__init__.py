"""File input/output: image decoding by documented rules, folder listing and pairing."""

from iqa.io.folders import IMAGE_EXTENSIONS, list_images, pair_files
from iqa.io.images import DEFAULT_MAX_PIXELS, array_to_tensor, decode_image, read_image

__all__ = [
    "DEFAULT_MAX_PIXELS",
    "IMAGE_EXTENSIONS",
    "array_to_tensor",
    "decode_image",
    "list_images",
    "pair_files",
    "read_image",
]
