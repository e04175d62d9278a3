"""The audit: a tamper-evident log of every stored event (``merkle``: canonical bytes, the
RFC 9162 tree and its proofs), signed checkpoints, the offline verifier and compliance replay.

Nothing here touches a database: the writer of the log lives in ``infrastructure.audit``.
"""
