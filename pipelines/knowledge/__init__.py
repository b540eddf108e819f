"""Knowledge resources: good practices, the training and technical-assistance catalogue, the demand survey
and the Voluntary Fund (issue 16)."""
