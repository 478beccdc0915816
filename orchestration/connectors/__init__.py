"""Ways steps reach the outside world, with the guards every call needs."""
