"""The base of every inference request body's schema."""
from marshmallow import INCLUDE, Schema, ValidationError, fields
from marshmallow.utils import missing


class RequestBodySchema(Schema):
    """Declares the fields Cortex reads, validated; keeps every other field (INCLUDE) for the provider.

    A valid body is loaded by calling the declared fields' own `deserialize` for the keys it
    has, and nothing else. marshmallow's load visits every declared field, present or not,
    and runs its hook and error machinery: ~170k instructions of a chat request's ~1.9M,
    ~70k this way (callgrind, bench/README.md), a chat body having 4 of its 11 declared
    fields. When a field fails or a required one is missing, marshmallow's own load runs, so
    errors read the same. Defaults, nested schemas and hooks would need that machinery: a
    schema declaring one is refused when it is built.
    """

    class Meta:
        unknown = INCLUDE

    def __init__(self, **kwargs):
        super().__init__(**kwargs)
        unsupported = [name for name, field in self.load_fields.items()
                       if field.load_default is not missing or isinstance(field, fields.Nested)
                       or isinstance(getattr(field, "inner", None), fields.Nested)]
        if unsupported or any(self._hooks.values()):
            raise TypeError(f"{type(self).__name__}: defaults, nested schemas and hooks need Schema "
                            f"({unsupported or 'hooks'})")
        self._fields_by_key = {field.data_key or name: (field.attribute or name, field)
                               for name, field in self.load_fields.items()}
        self._required = frozenset(key for key, (_, field) in self._fields_by_key.items() if field.required)

    def load(self, data, **kwargs):
        if kwargs or not isinstance(data, dict) or not self._required <= data.keys():
            return super().load(data, **kwargs)
        loaded = dict(data)
        try:
            for key in self._fields_by_key.keys() & data.keys():
                name, field = self._fields_by_key[key]
                value = field.deserialize(data[key], key, data)
                if name != key:
                    del loaded[key]
                loaded[name] = value
        except ValidationError:
            return super().load(data)  # raises, with marshmallow's messages
        return loaded
