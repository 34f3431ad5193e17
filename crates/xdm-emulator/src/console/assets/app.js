// The console page: see index.html.
"use strict";
