// Placeholder (issue 13): owner fills it in.
#pragma once
