"""What the synthetic corpus is made of: the catalogue of operations (`catalogue`) and the
mix that weighs them by family and API for every training stream (`mix`). It imports
nothing else of zeroplay, so the config can check a mix's names against the catalogue."""
