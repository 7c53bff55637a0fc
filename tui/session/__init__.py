"""Between an event source (a live engine run or a recording) and what shows it."""
