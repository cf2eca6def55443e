// Package jsonscan reads chosen values out of a JSON document without decoding the rest.
//
// Admission requests are mostly things Tandem never looks at: managedFields, env values,
// probes, the old object. A decoder that builds them costs ten to fifty times what TLS
// costs; this scanner jumps over them (strings with bytes.IndexByte, containers by
// counting brackets) and hands back only the members the caller asks for. It allocates
// nothing on its own: strings without escapes alias the input.
//
// Values that are read are checked strictly. Values that are skipped are checked for
// balance and string termination only, since the API server parsed the document before
// sending it; callers that must reject any malformed input can ask for Valid.
package jsonscan
