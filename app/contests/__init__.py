"""CCHC knowledge contests: question banks, contests and rounds, participants, timed attempts, results."""
