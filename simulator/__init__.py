"""Loopback simulators of the VELUX ACTIVE, Netatmo and Homely clouds.

Used by the tests, the demo and the benchmarks. Nothing here imports Home Assistant.
"""
