#!/usr/bin/env python3
"""Small image fixtures for the decoder tests, written with Debian's python3-pil.

Each image is 64x48 (or as noted) with a red left half and a blue right half (top-left pixel is red), so a
test can check both decoding and orientation. Run from the repository root:
    /usr/bin/python3 data-pipeline/src/test/resources/images/make_fixtures.py
"""
import io
import os

from PIL import Image

HERE = os.path.dirname(os.path.abspath(__file__))
W, H = 64, 48


def halves(mode='RGB', size=(W, H)):
    im = Image.new('RGB', size, (230, 20, 20))
    im.paste((20, 20, 230), (size[0] // 2, 0, size[0], size[1]))
    return im.convert(mode) if mode != 'RGB' else im


def save(name, im, **kw):
    im.save(os.path.join(HERE, name), **kw)


def main():
    save('baseline.jpg', halves(), quality=92)
    save('progressive.jpg', halves(), quality=92, progressive=True)
    save('gray.jpg', halves('L'), quality=92)
    save('cmyk.jpg', halves('CMYK'), quality=92)
    # Stored sideways: 48x64 pixels whose EXIF orientation 6 says "rotate 90 degrees clockwise to view",
    # so the upright image is 64x48 with red on the left.
    sideways = halves().transpose(Image.Transpose.ROTATE_90)  # counter-clockwise
    exif = Image.Exif()
    exif[0x0112] = 6
    save('exif_rot6.jpg', sideways, quality=92, exif=exif.tobytes())
    save('rgb8.png', halves())
    save('palette.png', halves('P'))
    rgba = halves('RGBA')
    rgba.putalpha(128)
    save('rgba.png', rgba)
    save('gray16.png', halves('L').convert('I').point(lambda v: v * 257).convert('I;16'))
    frames = [halves(), Image.new('RGB', (W, H), (20, 230, 20))]
    frames[0].save(os.path.join(HERE, 'anim.gif'), save_all=True, append_images=frames[1:], duration=100, loop=0)
    save('rgb24.bmp', halves())
    save('tiff.tif', halves())
    try:
        save('webp.webp', halves())
    except Exception as e:  # libwebp may be missing
        print('no webp:', e)
    # A decompression bomb: a valid 1-bit PNG declaring 20000 x 20000 pixels, a few hundred bytes.
    save('bomb.png', Image.new('1', (20000, 20000)), optimize=True)
    print('fixtures written to', HERE)


if __name__ == '__main__':
    main()
