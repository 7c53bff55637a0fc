"""``mpscope lesson``: the app playing a lesson hands-free, with its caption on screen."""
