/* examples/egad/obo.c — placeholder */
#include "egad_internal.h"
