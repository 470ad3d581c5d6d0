"""Draw the brand images (icon and logo) of the integration with Pillow.

.venv/ha-2026.2/bin/python scripts/make_brand.py
"""

from __future__ import annotations

from pathlib import Path

from PIL import Image, ImageDraw

OUT = Path(__file__).resolve().parent.parent / "custom_components" / "velux_homely" / "brand"
BLUE = (0, 84, 159, 255)
RED = (200, 40, 60, 255)
WHITE = (255, 255, 255, 255)


def icon(size: int) -> Image.Image:
    """A roof window (blue) over a shield (red) on a transparent square."""
    img = Image.new("RGBA", (size, size), (0, 0, 0, 0))
    d = ImageDraw.Draw(img)
    s = size / 256
    # roof
    d.polygon([(24 * s, 120 * s), (128 * s, 24 * s), (232 * s, 120 * s)], fill=BLUE)
    # roof window pane
    d.polygon(
        [
            (100 * s, 78 * s),
            (128 * s, 52 * s),
            (156 * s, 78 * s),
            (156 * s, 104 * s),
            (100 * s, 104 * s),
        ],
        fill=WHITE,
    )
    # shield
    d.polygon(
        [
            (72 * s, 136 * s),
            (184 * s, 136 * s),
            (184 * s, 176 * s),
            (128 * s, 236 * s),
            (72 * s, 176 * s),
        ],
        fill=RED,
    )
    d.ellipse([(114 * s, 160 * s), (142 * s, 188 * s)], fill=WHITE)
    return img


def logo(height: int) -> Image.Image:
    """The icon followed by two coloured bars standing for the two clouds."""
    width = height * 3
    img = Image.new("RGBA", (width, height), (0, 0, 0, 0))
    img.paste(icon(height), (0, 0))
    d = ImageDraw.Draw(img)
    d.rounded_rectangle(
        [(height * 1.1, height * 0.3), (width * 0.95, height * 0.45)],
        radius=height // 16,
        fill=BLUE,
    )
    d.rounded_rectangle(
        [(height * 1.1, height * 0.55), (width * 0.8, height * 0.7)], radius=height // 16, fill=RED
    )
    return img


def main() -> None:
    """Write icon.png, icon@2x.png, logo.png and logo@2x.png."""
    OUT.mkdir(parents=True, exist_ok=True)
    icon(256).save(OUT / "icon.png")
    icon(512).save(OUT / "icon@2x.png")
    logo(128).save(OUT / "logo.png")
    logo(256).save(OUT / "logo@2x.png")


if __name__ == "__main__":
    main()
