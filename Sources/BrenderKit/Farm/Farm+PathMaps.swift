import FarmCore
import Logging

extension Farm {
    func handlePathMapRequest(_ request: APIRequest) throws -> APIResponse {
        let schema = PathMap.schema
        try schema.checkAction(request.action)
        switch request.action {
        case "read":
            let filters = try schema.filterSet(request.filters)
            let matches = try ReadOrder(request, schema: schema).arrange(pathMaps.filter { map in filters.matches { map.value(of: $0) } }) {
                $0.value(of: $1)
            }
            return APIResponse(items: page(matches, of: request).map(\.json), total: matches.count)
        case "create":
            guard let name = request.values["name"]?.stringValue, FieldType.isValidName(name) else {
                throw FarmError.invalid("a path map needs 'name': \(FieldType.name.summary)", field: "values.name")
            }
            for key in request.values.keys where schema.field(key) == nil {
                throw APIError(.unknownField, "'\(key)' is not a field of a path map", field: "values.\(key)")
            }
            guard !pathMaps.contains(where: { $0.name == name }) else {
                throw FarmError.conflict("a path map named '\(name)' exists; update it instead", field: "values.name")
            }
            let map = PathMap(name: name, prefixes: try PathMap.prefixes(from: request.values))
            guard map.prefixes.count >= 2 else {
                throw FarmError.missing("a path map needs prefixes for at least two platforms (linux, darwin, windows)", field: "values")
            }
            try writeThrough { try store.savePathMap(map) }
            pathMaps.append(map)
            pathMaps.sort { $0.name < $1.name }
            logger.info("path map created", metadata: ["name": "\(name)"])
            return APIResponse(items: [map.json])
        case "update":
            let filters = try schema.filterSet(request.filters)
            try requireFiltersOrAll(filters, request)
            let values = try schema.updateValues(request.values)
            let prefixes = try PathMap.prefixes(from: values)
            var changed: [PathMap] = []
            for var map in pathMaps where filters.matches({ map.value(of: $0) }) {
                for (platform, prefix) in prefixes { map.prefixes[platform] = prefix.isEmpty ? nil : prefix }
                changed.append(map)
            }
            let rows = changed
            try writeThrough {
                for map in rows { try store.savePathMap(map) }
            }
            for map in changed {
                pathMaps.removeAll { $0.name == map.name }
                pathMaps.append(map)
            }
            pathMaps.sort { $0.name < $1.name }
            return APIResponse(items: changed.map(\.json))
        default:
            let filters = try schema.filterSet(request.filters)
            try requireFiltersOrAll(filters, request)
            let matches = pathMaps.filter { map in filters.matches { map.value(of: $0) } }
            try writeThrough {
                for map in matches { try store.deletePathMap(name: map.name) }
            }
            pathMaps.removeAll { map in matches.contains { $0.name == map.name } }
            return APIResponse(items: matches.map(\.json))
        }
    }
}
