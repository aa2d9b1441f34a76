"""Evidence files of work reports (photo, video), stored by content hash."""
