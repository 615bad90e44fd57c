"""What is made from the engine's own runs, above the engine and the models: `medusa.py` trains Medusa heads on
a model's own text (`python -m playground.training.medusa`)."""
