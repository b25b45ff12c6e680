import { systemVariantSuite } from "./system-variant.js";

systemVariantSuite("standard");
