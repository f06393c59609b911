"""Administrative units (province → department or commune → …), their counters and service fields."""
