"""record_demo: the README's GIFs come out of a real recording of the sandbox."""

from __future__ import annotations

import subprocess
from pathlib import Path

import pytest
from django.core.management import call_command

from sandbox import demo


def make_frames(folder: Path, *, count: int, size: str = "320x200") -> demo.Camera:
    """Moving test-pattern frames, listed the way the camera lists its screenshots."""
    subprocess.run(
        ["ffmpeg", "-v", "error", "-f", "lavfi", "-i", f"testsrc2=size={size}:rate=10",
         "-frames:v", str(count), str(folder / "%05d.png")],
        check=True,
    )  # fmt: skip
    camera = demo.Camera(page=None, folder=folder, fps=10)
    camera.frames = [(n / 10, folder / f"{n + 1:05d}.png") for n in range(count)]
    return camera


def test_it_encodes_frames_as_a_looping_gif_that_ffprobe_decodes(tmp_path):
    frames = make_frames(tmp_path, count=12).concat_list(tmp_path / "list.txt")
    gif = tmp_path / "out.gif"

    size = demo.gif_make(frames, gif, ladder=demo.SHORT_GIF_LADDER)

    assert gif.read_bytes()[:6] == b"GIF89a"
    assert size == gif.stat().st_size
    count, seconds = demo.gif_facts(gif)
    assert count > 1
    assert 1.0 < seconds < 4.0  # 1.2 s of frames and the last one held 1.5 s


def test_it_falls_back_to_smaller_settings_then_refuses_a_gif_over_the_limit(tmp_path, monkeypatch):
    frames = make_frames(tmp_path, count=20, size="640x400").concat_list(tmp_path / "list.txt")
    gif = tmp_path / "out.gif"
    ladder = (demo.GifSettings(fps=10, width=640, colors=256), demo.GifSettings(2, 160, 16))
    demo.gif_make(frames, gif, ladder=ladder[:1])
    big = gif.stat().st_size

    monkeypatch.setattr(demo, "MAX_GIF_BYTES", big - 1)
    assert demo.gif_make(frames, gif, ladder=ladder) < big  # the second rung fits

    monkeypatch.setattr(demo, "MAX_GIF_BYTES", 100)
    with pytest.raises(RuntimeError, match="stays above"):
        demo.gif_make(frames, gif, ladder=ladder)
    assert not gif.exists()


@pytest.mark.browser
def test_it_records_the_links_scene_as_a_valid_gif(settings, transactional_db, tmp_path):
    settings.DOWNLOAD_TMP_DIR = str(tmp_path / "downloads")
    output = tmp_path / "images"

    call_command("record_demo", "--scene", "links", "--short", "--output", str(output))

    gif = output / "demo-links.gif"
    assert [path.name for path in output.iterdir()] == ["demo-links.gif"]
    assert gif.read_bytes()[:6] == b"GIF89a"
    assert 10_000 < gif.stat().st_size < demo.MAX_GIF_BYTES
    count, seconds = demo.gif_facts(gif)  # ffprobe decodes every frame
    assert count > 10
    assert seconds > 3
