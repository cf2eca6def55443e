// Package jsonscan reads chosen values out of a JSON document without decoding the rest.
//
// Admission requests are mostly things Tandem never looks at: managedFields, env values,
// probes, the old object. A decoder that builds them costs ten to fifty times what TLS
// costs; this scanner steps over them (containers in one state machine, strings through a
// byte table) and hands back only the members the caller asks for. It allocates nothing
// on its own: strings without escapes alias the input.
//
// Whatever it reads or skips is checked against JSON's grammar (the fuzz test holds it
// to encoding/json.Valid), so malformed input is an error, never a guess. Like
// encoding/json.Valid it does not insist on valid UTF-8; strings it returns keep such
// bytes as they are, and the writers that quote them (jsontext.AppendQuote) replace them.
package jsonscan
