"""Downloading media with yt-dlp and ffmpeg: see ``botapp.media.downloader``."""
