"""arenapref: Arena-style preference data from chatbot logs, and the models that predict it."""

__version__ = "0.1.0"
