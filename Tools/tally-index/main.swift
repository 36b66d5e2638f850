print("tally-index")
