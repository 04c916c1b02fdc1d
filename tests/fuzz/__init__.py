"""The fuzz suite of issue 17: a corpus of malformed and edge-case inputs over every subcommand, hypothesis
strategies that draw more, and a runner that checks the contract (one-line refusal or success; no traceback,
no hang, no lost file). ``python -m tests.fuzz`` runs the whole corpus and prints the counts."""
