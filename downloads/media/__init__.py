"""Downloading media with yt-dlp and ffmpeg: see ``downloads.media.downloader``."""
