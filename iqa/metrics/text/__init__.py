"""Text-image metrics (registry kind ``"text"``): each image scored against its own prompt."""
