"""Image sizes and channels read from file headers, without decoding the pixels.

A folder of images must be checked whole before training starts (its shape fixes the model;
a bad file must stop the run at once, not hours into an epoch), and decoding every image
for that would double the cost of streaming them. Reading a few header bytes, and the last
bytes of the file to catch truncation, costs one small read per file.

The format is found from the content, not the extension, as `tf.io.decode_image` does.
"""

import dataclasses
import os

from zoo.errors import DataError

FORMATS = "PNG, JPEG, BMP or GIF"
PNG_SIGNATURE = b"\x89PNG\r\n\x1a\n"
PNG_END = b"\x00\x00\x00\x00IEND\xaeB`\x82"  # the IEND chunk every complete PNG ends with
PNG_COLOUR = {0: 1, 2: 3, 3: 3, 4: 1, 6: 3}  # colour type -> colour channels (alpha aside)
JPEG_FRAME_MARKERS = set(range(0xC0, 0xD0)) - {0xC4, 0xC8, 0xCC}  # SOF0..SOF15
JPEG_STANDALONE_MARKERS = set(range(0xD0, 0xD8)) | {0x01, 0xD8}
BMP_COMPRESSIONS = (0, 3, 6)  # none and bit fields; TensorFlow decodes no RLE/JPEG/PNG BMP
TAIL_BYTES = 12


@dataclasses.dataclass(frozen=True)
class ImageHeader:
    """What the header says: format, size, colour channels (1 grey or 3 colour; an alpha
    channel is not counted) and whether the file ends the way a complete image does."""

    format: str
    height: int
    width: int
    colour: int
    complete: bool


def read_header(path):
    """The `ImageHeader` of the image file `path`; DataError naming it if it is none."""
    try:
        with open(path, "rb") as f:
            head = f.read(64)
            size = f.seek(0, os.SEEK_END)
            f.seek(max(0, size - TAIL_BYTES))
            tail = f.read()
            for signature, parse in PARSERS:
                if head.startswith(signature):
                    return parse(path, f, head, tail, size)
    except OSError as error:
        raise DataError(f"{path}: cannot read ({error.strerror or error})") from None
    what = "it is empty" if not head else f"it starts with {head[:8]!r}"
    raise DataError(f"{path}: not an image: expected {FORMATS} data, but {what}")


def _number(data, start, length, order="big", signed=False):
    return int.from_bytes(data[start:start + length], order, signed=signed)


def _bad(path, kind, what="corrupt or truncated header"):
    return DataError(f"{path}: {kind} with a {what}")


def _png(path, f, head, tail, size):
    if len(head) < 26 or head[12:16] != b"IHDR" or head[25] not in PNG_COLOUR:
        raise _bad(path, "PNG")
    return ImageHeader("PNG", _number(head, 20, 4), _number(head, 16, 4), PNG_COLOUR[head[25]],
                       tail.endswith(PNG_END))


def _gif(path, f, head, tail, size):
    if len(head) < 13:
        raise _bad(path, "GIF")
    # the logical screen: TensorFlow decodes every frame onto a canvas of this size
    return ImageHeader("GIF", _number(head, 8, 2, "little"), _number(head, 6, 2, "little"), 3,
                       tail.endswith(b";"))


def _bmp(path, f, head, tail, size):
    if len(head) < 34 or _number(head, 14, 4, "little") < 40:
        raise _bad(path, "BMP", "corrupt header, or an old OS/2 header TensorFlow cannot read")
    width, height = _number(head, 18, 4, "little", True), abs(_number(head, 22, 4, "little", True))
    bits, compression = _number(head, 28, 2, "little"), _number(head, 30, 4, "little")
    if bits not in (8, 24, 32) or compression not in BMP_COMPRESSIONS:
        raise DataError(f"{path}: {bits}-bit BMP with compression {compression}, which TensorFlow "
                        "cannot decode (it reads uncompressed 8-, 24- and 32-bit BMP); save it as PNG")
    if bits == 8 and not _grey_palette(f, head):
        raise DataError(f"{path}: 8-bit BMP with a colour palette, which TensorFlow would decode "
                        "as grey palette indices; save it as PNG or 24-bit BMP")
    pixels_end = _number(head, 10, 4, "little") + (bits * width + 31) // 32 * 4 * height
    return ImageHeader("BMP", height, width, 1 if bits == 8 else 3, width > 0 and size >= pixels_end)


def _grey_palette(f, head):
    """Whether an 8-bit BMP's palette maps every index i to grey (i, i, i), as TensorFlow,
    which ignores the palette, assumes."""
    count = _number(head, 46, 4, "little") or 256
    f.seek(14 + _number(head, 14, 4, "little"))
    palette = f.read(4 * count)
    return len(palette) == 4 * count and all(
        palette[4 * i] == palette[4 * i + 1] == palette[4 * i + 2] == i for i in range(count))


def _jpeg(path, f, head, tail, size):
    """Walks the marker segments (seeking past their contents) to the frame header."""
    f.seek(2)
    while True:
        marker = f.read(2)
        if len(marker) < 2 or marker[0] != 0xFF:
            raise _bad(path, "JPEG")
        code = marker[1]
        while code == 0xFF:  # fill bytes
            code = (f.read(1) or b"\x00")[0]
        if code in JPEG_STANDALONE_MARKERS:
            continue
        if code in (0xD9, 0xDA):  # end of image or image data before any frame header
            raise _bad(path, "JPEG")
        segment = f.read(2)
        if len(segment) < 2:
            raise _bad(path, "JPEG")
        if code in JPEG_FRAME_MARKERS:
            frame = f.read(6)
            if len(frame) < 6 or _number(frame, 1, 2) == 0 or _number(frame, 3, 2) == 0:
                raise _bad(path, "JPEG")
            return ImageHeader("JPEG", _number(frame, 1, 2), _number(frame, 3, 2),
                               1 if frame[5] == 1 else 3, tail.endswith(b"\xff\xd9"))
        f.seek(_number(segment, 0, 2) - 2, os.SEEK_CUR)


PARSERS = ((PNG_SIGNATURE, _png), (b"GIF87a", _gif), (b"GIF89a", _gif), (b"BM", _bmp),
           (b"\xff\xd8\xff", _jpeg))
