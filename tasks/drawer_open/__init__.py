"""drawer_open: pull a drawer (slide joint) at least 10 cm open by its handle."""
