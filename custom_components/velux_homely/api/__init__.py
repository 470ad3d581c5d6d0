"""Asyncio clients for the VELUX ACTIVE / Netatmo and Homely clouds.

This package never imports Home Assistant: the integration injects its
``aiohttp.ClientSession`` and maps the errors in :mod:`.errors`.
"""
