"""AI decision steps: providers behind one interface, routing by confidence and policy,
learned models trained on people's decisions, and the decision record.

`service.decide` is what the engine calls; everything else is internal.
"""
