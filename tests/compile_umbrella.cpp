// Compile test: the public declarations are usable from C++.
#include "vpar.h"
int main() { return VPAR_OK; }
