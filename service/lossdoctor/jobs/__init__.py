"""Training-side jobs: the scenario library (real small PyTorch trainings). torch is imported only here."""
