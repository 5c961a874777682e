"""Secure-by-default building blocks: each adds one resource group to a stack.

Blocks know AWS, not our systems. Secure defaults live here, so callers
pass only what differs.
"""
