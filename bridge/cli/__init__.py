"""The `dawbridge` command: file commands, MIDI files, op flags and previews."""
