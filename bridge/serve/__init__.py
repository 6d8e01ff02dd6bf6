"""The engine's serving side: the ROUTER loop, scheduler, fair queue and the model slot."""
