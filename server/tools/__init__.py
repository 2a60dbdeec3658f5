"""Tool calling on any model: the call format, the plan a request makes, the grammar that
constrains decoding to it, and the parser that reads calls back out of the text."""
