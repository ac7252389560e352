"""Runtime code deployed as the retraining Azure Function (see function_app.py)."""
