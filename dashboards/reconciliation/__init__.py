"""Reconciliation: each contract's chain across systems, its figures and its breaks.

``rules`` says what a chain means (pure); ``feed`` keeps the contracts due to be reconciled
again; ``chains`` reads a contract's transactions and version reports from the ledger;
``store`` writes the figures, the breaks and their outbox; ``refresh`` runs them for the
contracts due. docs/reconciliation.md explains each figure and break.
"""
